"""User-side package of the course platform.

Importing this package must stay cheap and must not import Jupyter Server: the hub side imports
:mod:`lms_extension.content` without having JupyterLab installed.
"""

__version__ = "0.1.0"


def _jupyter_server_extension_points():
    """The server extension (enabled as ``lms_extension``): see :mod:`lms_extension.server`."""
    from .server import _jupyter_server_extension_points

    return _jupyter_server_extension_points()
