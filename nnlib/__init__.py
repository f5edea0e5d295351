"""nnlib: a glass-box neural-network library in numpy, written to be read.

The public names follow PyTorch's (``nnlib.Linear``, ``nnlib.optim.Adam``, ...) so that a
student who learns here meets familiar ground next.
"""

from .module import Module, Parameter, Sequential
from .layers import ELU, Dropout, Flatten, Identity, LeakyReLU, Linear, ReLU, Sigmoid, Tanh
from .losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HingeLoss, MSELoss
from .gradcheck import gradcheck
from .training import EarlyStopping, History, evaluate, fit, predict
from . import init, optim, models, datasets, viz  # noqa: E402
# -- modules added by later work register their public names below this line --
from . import graph  # noqa: E402
from .conv import AvgPool2d, Conv2d, MaxPool2d  # noqa: E402
from .norm import BatchNorm1d, BatchNorm2d  # noqa: E402
from .resnet import AdaptiveAvgPool2d, Residual  # noqa: E402
from . import functional, callbacks, jobs  # noqa: E402
from .callbacks import Callback, ClipGradNorm, ProgressBar  # noqa: E402
from . import conv_reference, kernels, pool  # noqa: E402

__version__ = "0.1.0"
