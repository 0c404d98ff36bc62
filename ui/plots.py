"""Live pyqtgraph plots: displayed frame rate, latency and selected ARKit blendshape curves.

:meth:`LivePlots.add` records samples (cheap, every displayed frame); :meth:`LivePlots.refresh`
redraws the curves and is called by the window at a few hertz. The time axis is fixed (the
last :data:`WINDOW_S` seconds, now at 0) and the value axes move in steps (:func:`nice_limit`),
so refreshing redraws curves, not axes. No grid lines: with Qt's raster engine they cost about
10 ms per direction and repaint (most of the plots' time), on the GUI thread.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from ui.packet import DEFAULT_CURVES
from ui.rates import Series

HISTORY = 600  # samples kept per line
NICE_LIMITS = (10.0, 20.0, 40.0, 60.0, 100.0, 150.0, 200.0, 300.0, 500.0, 1000.0, 2000.0, 5000.0)
WINDOW_S = 10.0  # seconds shown
CURVE_COLOURS = ((255, 200, 60), (90, 200, 255), (60, 140, 255), (255, 110, 140), (230, 80, 200),
                 (140, 240, 120), (240, 240, 240))


def nice_limit(peak: float, current: float | None = None) -> float:
    """The top of a value axis showing ``peak`` with some room; ``current`` is kept while it fits
    (peak within 40-95 % of it), so the axis does not move with every sample."""
    if current is not None and 0.4 * current <= peak <= 0.95 * current:
        return current
    return next((limit for limit in NICE_LIMITS if peak <= 0.8 * limit), max(NICE_LIMITS[-1], 1.25 * peak))


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
            plot.enableAutoRange(x=False, y=False)
        self._limits: dict[str, float] = {}
        self._set_limit(self.rate_plot, "rate", 40.0)
        self._set_limit(self.latency_plot, "latency", 100.0)
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
        legend = plot.addLegend(offset=(2, 2), labelTextSize="7pt", verSpacing=-6)
        legend.setBrush((30, 32, 36, 160))
        if units:
            plot.setLabel("left", units=units)
            plot.getAxis("left").enableAutoSIPrefix(False)  # 2000 ms, not "2 kms"
        return plot

    def _set_limit(self, plot: pg.PlotItem, key: str, limit: float) -> None:
        if self._limits.get(key) != limit:
            self._limits[key] = limit
            plot.setYRange(0.0, limit, padding=0.0)

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
        peaks = {"rate": 0.0, "latency": 0.0}
        for name, series in self.series.items():
            if len(series):
                x, y = series.arrays()
                self.lines[name].setData(x - self._now, y)
                key = "rate" if name == "displayed fps" else "latency" if name.endswith(" ms") else None
                if key is not None:
                    shown = y[x >= self._now - WINDOW_S]
                    if shown.size:
                        peaks[key] = max(peaks[key], float(np.nanmax(shown)))
            else:
                self.lines[name].clear()
        self._set_limit(self.rate_plot, "rate", nice_limit(peaks["rate"], self._limits["rate"]))
        self._set_limit(self.latency_plot, "latency", nice_limit(peaks["latency"], self._limits["latency"]))
