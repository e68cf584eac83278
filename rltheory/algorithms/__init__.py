"""Paper algorithms, one subpackage per line of work (``tabular``, ``submodular``, ...)."""
