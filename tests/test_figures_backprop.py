"""nnlib.figures.backprop: what each figure shows for given numbers."""

import numpy as np
import pytest

from nnlib import viz
from nnlib.figures import backprop as figures


def test_limits_are_touched_only_when_they_change():
    fig, ax = viz.figure()
    ax.set_ylim(0, 1)
    ax.yaxis.stale = False
    ax.stale = False
    figures._set_limits(ax, ylim=(0.0, 1.0))
    assert not ax.stale
    figures._set_limits(ax, ylim=(0.0, 2.0))
    assert ax.get_ylim() == (0.0, 2.0) and ax.stale


def test_sensitivity_plot_shows_round_off_as_zero_and_real_errors_rounded():
    ts = np.linspace(-3, 3, 7)
    plot = figures.SensitivityPlot(ts)
    curves = np.c_[ts, 0.5 * ts, -1.5 * ts]
    plot.show(curves, [1, 0.5, -1.5], 0.5, np.array([0.5, 0.25, -0.75]), np.array([0.5, 0.25, -0.75 + 1e-16]))
    assert plot.bx.get_title() == "largest error of the estimate: 0"
    assert plot.bx.get_ylim() == (-1.0, 1.0)
    np.testing.assert_allclose(plot.tangents[2].get_ydata(), -1.5 * ts)
    plot.show(curves, [1, 0.5, -1.5], 1.0, np.array([0.9, 0.5, -1.5]), np.array([1.0, 0.5, -1.5]))
    assert plot.bx.get_title() == "largest error of the estimate: 0.1"


def test_chain_cost_plot_labels_each_bar_with_its_count():
    plot = figures.ChainCostPlot()
    plot.show([32_162_816, 241_664, 241_664], title="widths")
    assert [t.get_text() for t in plot.labels] == ["32,162,816", "241,664", "241,664"]
    assert [b.get_height() for b in plot.bars] == [32_162_816, 241_664, 241_664]
    lo, hi = plot.ax.get_ylim()
    assert lo <= 241_664 and hi >= 10 * 32_162_816


def test_gradient_plot_draws_exact_zeros_on_the_floor_and_says_so():
    plot = figures.GradientPlot()
    plot.show(np.array([0.0, 0.0, 1e-3]), np.array([0.0, 0.0, 0.5]))
    assert plot.grad_line.get_ydata()[0] == figures.GradientPlot.FLOOR
    assert "2 exact zeros" in plot.ax.get_title()
    assert plot.ax.get_xlim() == (0.5, 5.5)
    plot.show(np.ones(12), np.full(12, 0.5))
    assert plot.ax.get_xlim() == (0.5, 20.5) and "zeros" not in plot.ax.get_title()


def test_dead_units_plot_sets_both_bar_sets():
    plot = figures.DeadUnitsPlot(3)
    plot.show([0.0, 0.5, 1.0], [0.25, 0.5, 1.0])
    assert [b.get_height() for b in plot.before] == [0.0, 0.5, 1.0]
    assert [b.get_height() for b in plot.after] == [0.25, 0.5, 1.0]
    with pytest.raises(ValueError):
        plot.show([0.0, 0.5], [0.0, 0.5, 1.0])


def test_subgradient_plot_colours_the_line_and_its_legend_by_the_verdict():
    plot = figures.SubgradientPlot(np.linspace(-3, 3, 61))
    plot.show(np.abs, 0.0, 0.5, True, name="|x|")
    assert plot.line.get_color() == viz.GREEN == plot.legend.get_lines()[1].get_color()
    assert "a subgradient: the line stays below h" in plot.ax.get_title()
    plot.show(np.abs, 0.0, 1.5, False, name="|x|")
    assert plot.line.get_color() == viz.VERMILLION and "not a subgradient" in plot.ax.get_title()
    np.testing.assert_allclose(plot.line.get_ydata(), 1.5 * np.linspace(-3, 3, 61))


def test_plot_cost_vs_depth_draws_one_line_per_method_and_checks_shapes():
    fig, ax = viz.figure()
    figures.plot_cost_vs_depth(ax, [2, 4, 8], {"backprop": [3, 7, 15], "naive": [5, 22, 92]}, "products", "t")
    assert len(ax.get_lines()) == 2 and [t.get_text() for t in ax.get_xticklabels()] == ["2", "4", "8"]
    with pytest.raises(ValueError, match=r"counts\['naive'\]"):
        figures.plot_cost_vs_depth(ax, [2, 4], {"naive": [5, 22, 92]}, "products", "t")


def test_the_graph_pictures_are_reexported():
    from nnlib.figures import graph

    assert figures.draw_graph is graph.draw_graph and figures.local_derivatives is graph.local_derivatives
