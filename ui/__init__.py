"""The desktop window: the only Qt, VisPy and pyqtgraph code."""
