"""Draw figure specifications (see ``figures.py``) as plotly figures and as static PNG images."""

from __future__ import annotations

import base64
import io
import logging
import math
import time
from collections.abc import Mapping
from typing import Any

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")  # headless: never needs a display

import plotly.graph_objects as go  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from plotly.subplots import make_subplots  # noqa: E402

logger = logging.getLogger(__name__)

PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#637939",
)
MPL_MARKERS = {"x": "x", "circle-open": "o"}


def colour(index: int) -> str:
    """The i-th colour of the shared palette (same colours in plotly and PNG)."""
    return PALETTE[index % len(PALETTE)]


# --- plotly ------------------------------------------------------------------------------------------
def to_plotly(spec: Mapping[str, Any]) -> go.Figure:
    """An interactive plotly figure for a figure specification."""
    kind = spec["kind"]
    if kind == "bars":
        fig = go.Figure(
            go.Bar(x=spec["values"], y=spec["categories"], orientation="h", marker_color=_bar_colours(spec))
        )
        fig.update_yaxes(autorange="reversed")
        fig.update_xaxes(title=spec["value_label"], tickformat=".0%" if spec.get("percent") else None)
    elif kind == "heatmap":
        fig = go.Figure(
            go.Heatmap(
                z=spec["values"],
                x=spec["columns"],
                y=spec["rows"],
                zmin=spec["zmin"],
                zmax=spec["zmax"],
                colorscale="RdBu_r" if spec.get("diverging") else "Viridis",
                colorbar={"title": spec["value_label"]},
                texttemplate="%{z:.1f}" if spec.get("annotate") else None,
            )
        )
        fig.update_yaxes(autorange="reversed")
    elif kind == "lines":
        panels = spec["panels"]
        fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[p["title"] for p in panels])
        names = _series_names(panels)
        for col, panel in enumerate(panels, start=1):
            for series in panel["series"]:
                fig.add_trace(
                    go.Scatter(
                        x=series["x"],
                        y=series["y"],
                        name=series["name"],
                        mode="lines+markers",
                        line={"color": colour(names.index(series["name"]))},
                        legendgroup=series["name"],
                        showlegend=col == 1,
                    ),
                    row=1,
                    col=col,
                )
            for marker in panel.get("markers", []):
                fig.add_trace(
                    go.Scatter(
                        x=marker["x"],
                        y=marker["y"],
                        name=marker["name"],
                        mode="markers",
                        marker={"symbol": marker.get("symbol", "x"), "size": 14, "color": "black"},
                        legendgroup=marker["name"],
                        showlegend=col == 1,
                    ),
                    row=1,
                    col=col,
                )
            for line in panel.get("hlines", []):
                fig.add_hline(y=line["y"], line_dash="dash", line_color="grey", row=1, col=col)
            fig.update_xaxes(title=panel["xlabel"], row=1, col=col)
            fig.update_yaxes(title=panel["ylabel"], row=1, col=col)
    elif kind == "scatter":
        fig = go.Figure(
            [
                go.Scattergl(
                    x=g["x"],
                    y=g["y"],
                    name=g["name"],
                    mode="markers",
                    marker={"size": 4, "opacity": 0.6, "color": colour(i)},
                )
                for i, g in enumerate(spec["groups"])
            ]
        )
        fig.update_xaxes(title=spec["xlabel"])
        fig.update_yaxes(title=spec["ylabel"])
    elif kind == "histograms":
        panels = spec["panels"]
        cols = min(len(panels), 4)
        fig = make_subplots(rows=math.ceil(len(panels) / cols), cols=cols, subplot_titles=[p["title"] for p in panels])
        for i, panel in enumerate(panels):
            edges = panel["edges"]
            centres = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:], strict=True)]
            fig.add_trace(
                go.Bar(x=centres, y=panel["counts"], showlegend=False, marker_color=colour(0)),
                row=i // cols + 1,
                col=i % cols + 1,
            )
        fig.update_layout(height=220 * math.ceil(len(panels) / cols), bargap=0)
    else:
        raise ValueError(f"unknown figure kind {kind!r}")
    fig.update_layout(title=spec["title"], template="plotly_white")
    return fig


def _bar_colours(spec: Mapping[str, Any]) -> list[str]:
    """One colour per bar (segments keep their colour everywhere) or one colour for all."""
    n = len(spec["values"])
    return [colour(i) for i in range(n)] if spec.get("colour_by_category") else [colour(0)] * n


def _series_names(panels: list[Mapping[str, Any]]) -> list[str]:
    """Every series name of a lines figure, in first-seen order (one colour per name)."""
    return list(dict.fromkeys(s["name"] for p in panels for s in p["series"]))


# --- static PNG --------------------------------------------------------------------------------------
def to_matplotlib(spec: Mapping[str, Any], dpi: int) -> Figure:
    """A static matplotlib figure for a figure specification (no pyplot state involved)."""
    kind = spec["kind"]
    if kind == "bars":
        fig = Figure(figsize=(8, 0.35 * len(spec["categories"]) + 1.5), dpi=dpi, layout="constrained")
        ax = fig.subplots()
        ax.barh(spec["categories"], spec["values"], color=_bar_colours(spec))
        ax.invert_yaxis()
        ax.set_xlabel(spec["value_label"])
        if spec.get("percent"):
            ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        for y, v in enumerate(spec["values"]):
            ax.annotate(
                f"{v:.1%}" if spec.get("percent") else f"{v:,.0f}",
                (v, y),
                xytext=(3, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
            )
    elif kind == "heatmap":
        rows, cols = spec["rows"], spec["columns"]
        fig = Figure(
            figsize=(max(6, 0.55 * len(cols) + 3), max(3, 0.45 * len(rows) + 2.5)), dpi=dpi, layout="constrained"
        )
        ax = fig.subplots()
        image = ax.imshow(
            spec["values"],
            cmap="RdBu_r" if spec.get("diverging") else "viridis",
            vmin=spec["zmin"],
            vmax=spec["zmax"],
            aspect="auto",
        )
        ax.set_xticks(range(len(cols)), cols, rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(len(rows)), rows, fontsize=8)
        if spec.get("annotate"):
            for r, row in enumerate(spec["values"]):
                for c, v in enumerate(row):
                    ax.text(
                        c,
                        r,
                        f"{v:.1f}",
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if abs(v) > 0.6 * spec["zmax"] else "black",
                    )
        fig.colorbar(image, ax=ax, label=spec["value_label"])
    elif kind == "lines":
        panels = spec["panels"]
        names = _series_names(panels)
        wide = any(p.get("categorical_x") for p in panels)
        fig = Figure(figsize=(11 if wide else 5.5 * len(panels), 4.8), dpi=dpi, layout="constrained")
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        for ax, panel in zip(axes, panels, strict=True):
            for s in panel["series"]:
                ax.plot(s["x"], s["y"], marker="o", markersize=3, label=s["name"], color=colour(names.index(s["name"])))
            for m in panel.get("markers", []):
                hollow = m.get("symbol") == "circle-open"  # 'x' is unfilled: a colour, no face
                style = {"facecolors": "none", "edgecolors": "black"} if hollow else {"c": "black"}
                ax.scatter(
                    m["x"],
                    m["y"],
                    s=110,
                    label=m["name"],
                    zorder=3,
                    marker=MPL_MARKERS.get(m.get("symbol", "x"), "x"),
                    **style,
                )
            for line in panel.get("hlines", []):
                ax.axhline(line["y"], linestyle="--", color="grey", linewidth=1)
            ax.set_title(panel["title"], fontsize=10)
            ax.set_xlabel(panel["xlabel"])
            ax.set_ylabel(panel["ylabel"])
            ax.grid(alpha=0.3)
            if panel.get("categorical_x"):
                ax.tick_params(axis="x", labelrotation=50, labelsize=8)
                for label in ax.get_xticklabels():
                    label.set_horizontalalignment("right")
        if axes[0].get_legend_handles_labels()[0]:  # nothing to explain when no series was drawn
            axes[0].legend(fontsize=7, loc="best")
    elif kind == "scatter":
        fig = Figure(figsize=(8, 6), dpi=dpi, layout="constrained")
        ax = fig.subplots()
        for i, g in enumerate(spec["groups"]):
            ax.scatter(g["x"], g["y"], s=5, alpha=0.5, color=colour(i), label=g["name"], rasterized=True)
        ax.set_xlabel(spec["xlabel"])
        ax.set_ylabel(spec["ylabel"])
        ax.legend(fontsize=7, markerscale=3)
    elif kind == "histograms":
        panels = spec["panels"]
        cols = min(len(panels), 4)
        rows = math.ceil(len(panels) / cols)
        # Fixed margins: a layout engine over ~20 axes costs seconds per drawing.
        fig = Figure(figsize=(12, 2.2 * rows), dpi=dpi)
        axes = fig.subplots(rows, cols, squeeze=False).ravel()
        fig.subplots_adjust(left=0.05, right=0.98, bottom=0.04, top=1 - 0.45 / rows, hspace=0.45, wspace=0.25)
        for ax, panel in zip(axes, panels, strict=False):
            edges = panel["edges"]
            ax.stairs(panel["counts"], edges, fill=True, color=colour(0))
            ax.set_title(panel["title"], fontsize=8)
            ax.tick_params(labelsize=7)
        for ax in axes[len(panels) :]:
            ax.set_visible(False)
    else:
        raise ValueError(f"unknown figure kind {kind!r}")
    fig.suptitle(spec["title"], fontsize=11)
    return fig


def png_data_uri(fig: Figure) -> str:
    """The figure as an inline ``data:image/png;base64,...`` URI."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


# --- nodes -------------------------------------------------------------------------------------------
def render_plotly_figures(*spec_groups: Mapping[str, Mapping[str, Any]]) -> dict[str, go.Figure]:
    """Every figure specification as a plotly figure, keyed by figure name."""
    return {name: to_plotly(spec) for specs in spec_groups for name, spec in specs.items()}


def render_report_images(params: Mapping[str, Any], *spec_groups: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Every figure specification as an inline PNG data URI, keyed by figure name."""
    start = time.perf_counter()
    images = {
        name: png_data_uri(to_matplotlib(spec, int(params["dpi"])))
        for specs in spec_groups
        for name, spec in specs.items()
    }
    logger.info("Rendered %d report images in %.1f s", len(images), time.perf_counter() - start)
    return images
