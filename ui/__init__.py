"""The desktop window: the only Qt, VisPy and pyqtgraph code.

Data flow: :class:`ui.worker.SessionWorker` runs an :class:`app.session.Session` (source and
pipeline threads), turns each result into a display-ready :class:`ui.packet.DisplayPacket` on
the pipeline thread and signals the GUI thread, which only draws: the VisPy viewport
(:mod:`ui.viewport`), the pyqtgraph previews and plots (:mod:`ui.previews`, :mod:`ui.plots`),
the status bar and the timeline. :func:`ui.launch.run_gui` is what ``main.py`` starts.
"""
