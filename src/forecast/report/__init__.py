"""Reports (one shape: ``.text()``, ``.table()``, ``.to_dict()``), words and figures."""
