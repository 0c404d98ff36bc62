"""Qt-free application core: configuration, the headless runner and its report."""
