"""Live pyqtgraph plots: displayed frame rate, latency and selected ARKit blendshape curves.

:meth:`LivePlots.add` records samples (cheap, every displayed frame); :meth:`LivePlots.refresh`
redraws the curves and is called by the window at a few hertz. The time axis is fixed (the
last :data:`WINDOW_S` seconds, now at 0), so refreshing redraws curves, not axes.
"""

from __future__ import annotations

import pyqtgraph as pg

from ui.packet import DEFAULT_CURVES
from ui.rates import Series

HISTORY = 600  # samples kept per line
WINDOW_S = 10.0  # seconds shown
CURVE_COLOURS = ((255, 200, 60), (90, 200, 255), (60, 140, 255), (255, 110, 140), (230, 80, 200),
                 (140, 240, 120), (240, 240, 240))


class LivePlots(pg.GraphicsLayoutWidget):
    """Three plots side by side sharing the time axis (seconds)."""

    def __init__(self, curves: tuple[str, ...] = DEFAULT_CURVES, parent=None):
        super().__init__(parent=parent)
        self.setBackground((30, 32, 36))
        self.rate_plot = self._plot("frame rate", "fps")
        self.latency_plot = self._plot("latency", "ms")
        self.curve_plot = self._plot("blendshapes (ARKit)", "")
        self.curve_plot.setYRange(0.0, 1.0)
        for plot in (self.rate_plot, self.latency_plot, self.curve_plot):
            plot.setXRange(-WINDOW_S, 0.0, padding=0.0)
            plot.enableAutoRange(x=False)
        self.rate_plot.setLabel("bottom", units="s")
        self._now = 0.0
        self._dirty = False
        self.series: dict[str, Series] = {}
        self.lines: dict[str, pg.PlotDataItem] = {}
        self._line("displayed fps", self.rate_plot, (120, 220, 120))
        self._line("end-to-end ms", self.latency_plot, (255, 170, 60))
        self._line("pipeline ms", self.latency_plot, (110, 170, 255))
        self.curve_names = curves
        for name, colour in zip(curves, CURVE_COLOURS, strict=False):
            self._line(name, self.curve_plot, colour)
        self.setMinimumSize(480, 170)

    def _plot(self, title: str, units: str) -> pg.PlotItem:
        plot = self.addPlot(title=title)
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.showGrid(x=True, y=True, alpha=0.15)
        legend = plot.addLegend(offset=(2, 2), labelTextSize="7pt", verSpacing=-6)
        legend.setBrush((30, 32, 36, 160))
        if units:
            plot.setLabel("left", units=units)
        return plot

    def _line(self, name: str, plot: pg.PlotItem, colour: tuple[int, int, int]) -> None:
        self.series[name] = Series(HISTORY)
        self.lines[name] = plot.plot(name=name, pen=pg.mkPen(colour, width=1.5))

    def add(self, t: float, values: dict[str, float]) -> None:
        """Record one sample at time ``t`` (seconds) for each named line in ``values``."""
        self._now = t
        self._dirty = True
        for name, value in values.items():
            series = self.series.get(name)
            if series is not None:
                series.add(t, value)

    def reset(self) -> None:
        """Forget every sample (a new source). Not ``clear``: pyqtgraph's layout owns that name."""
        for series in self.series.values():
            series.clear()
        self._dirty = True
        self.refresh()

    def refresh(self) -> None:
        """Redraw the curves if samples came since the last refresh."""
        if not self._dirty:
            return
        self._dirty = False
        for name, series in self.series.items():
            if len(series):
                x, y = series.arrays()
                self.lines[name].setData(x - self._now, y)
            else:
                self.lines[name].clear()
