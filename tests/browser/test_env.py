"""Unit tests of the browser suite's plain helpers (no browser needed: they run in
``make unit``)."""

from __future__ import annotations

import socket
import stat

import pytest

from . import env


def _state(models: dict) -> dict:
    return {"metadata": {"widgets": {env.WIDGET_STATE_MIME: {"state": models}}}}


def _view(model_id: str) -> dict:
    return {"output_type": "display_data",
            "data": {env.WIDGET_VIEW_MIME: {"model_id": model_id}, "text/plain": "w"}}


def test_chromium_path_prefers_the_environment_variable(tmp_path, monkeypatch):
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("CHROMIUM", str(fake))
    assert env.chromium_path() == str(fake)


def test_chromium_path_rejects_a_variable_naming_no_executable(tmp_path, monkeypatch):
    plain = tmp_path / "not-a-browser"
    plain.write_text("")
    plain.chmod(0o644)
    monkeypatch.setenv("CHROMIUM", str(plain))
    assert env.chromium_path() is None  # even root needs an x bit to execute
    monkeypatch.setenv("CHROMIUM", str(tmp_path / "missing"))
    assert env.chromium_path() is None


def test_chromium_path_falls_back_to_debian_then_path(monkeypatch, tmp_path):
    monkeypatch.delenv("CHROMIUM", raising=False)
    monkeypatch.setattr(env.os.path, "isfile", lambda p: False)
    monkeypatch.setattr(env.shutil, "which", lambda name: f"/opt/bin/{name}")
    assert env.chromium_path() == "/opt/bin/chromium"
    monkeypatch.setattr(env.shutil, "which", lambda name: None)
    assert env.chromium_path() is None


def test_expected_controls_follows_containers_and_output_widgets():
    nb = _state({
        "box": {"model_name": "VBoxModel",
                "state": {"children": ["IPY_MODEL_s1", "IPY_MODEL_row", "IPY_MODEL_out"]}},
        "row": {"model_name": "HBoxModel", "state": {"children": ["IPY_MODEL_dd", "IPY_MODEL_b"]}},
        "s1": {"model_name": "FloatLogSliderModel", "state": {}},
        "dd": {"model_name": "DropdownModel", "state": {}},
        "b": {"model_name": "ButtonModel", "state": {}},
        "out": {"model_name": "OutputModel", "state": {"outputs": [_view("s2")]}},
        "s2": {"model_name": "IntSliderModel", "state": {}},
        "unused": {"model_name": "IntSliderModel", "state": {}},  # never displayed
        "lay": {"model_name": "LayoutModel", "state": {}},
    })
    nb["cells"] = [
        {"cell_type": "markdown", "source": "# t"},
        {"cell_type": "code", "outputs": [_view("box")]},
        {"cell_type": "code", "outputs": [_view("dd")]},  # the same dropdown shown again
    ]
    assert env.expected_controls(nb) == {"slider": 2, "dropdown": 2, "button": 1}


def test_expected_controls_is_empty_without_widgets():
    nb = {"metadata": {}, "cells": [{"cell_type": "code", "outputs": [
        {"output_type": "stream", "name": "stdout", "text": "hi"}]}]}
    assert env.expected_controls(nb) == {}


def test_expected_controls_names_the_cell_whose_state_is_missing():
    nb = _state({})
    nb["cells"] = [{"cell_type": "code", "outputs": []},
                   {"cell_type": "code", "outputs": [_view("gone")]}]
    with pytest.raises(ValueError, match="cell 1 displays widget model gone"):
        env.expected_controls(nb)


def test_notebook_paths_keeps_course_notebooks_in_order(tmp_path):
    for name in ["02_b.ipynb", "01_a.ipynb", "scratch.ipynb", "1_x.ipynb", "03_c.txt"]:
        (tmp_path / name).write_text("{}")
    assert [p.name for p in env.notebook_paths(tmp_path)] == ["01_a.ipynb", "02_b.ipynb"]
    assert env.notebook_paths(tmp_path / "absent") == []


def test_free_port_can_be_bound():
    port = env.free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", port))


def test_every_control_kind_has_a_selector():
    assert set(env.CONTROL_KINDS.values()) == set(env.CONTROL_SELECTORS)
