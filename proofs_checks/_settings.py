"""Pick a wing's sweep settings for a run: the one piece of logic the settings modules (plain data) leave out."""
from __future__ import annotations


def sizes(table: dict, ctx) -> dict:
    """The settings of ``table`` for the run size of ``ctx``.

    Parameters
    ----------
    table : dict
        ``{"quick": {...}, "full": {...}}``, a wing's ``settings.SIZES``.
    ctx : RunContext
        The run; ``ctx.quick`` selects the entry.

    Returns
    -------
    dict
        ``table["quick"]`` for a quick run, ``table["full"]`` otherwise.
    """
    return table["quick" if ctx.quick else "full"]
