"""Widget layer: every file that uses ipywidgets lives in this package."""

from .live import Live, checkbox, dropdown, int_slider, log_slider, slider

__all__ = ["Live", "checkbox", "dropdown", "int_slider", "log_slider", "slider"]
