"""Run a WSGI app under gunicorn from Python, so `leadrelay serve` and `leadrelay sandbox` need no shell."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication


class GunicornApp(BaseApplication):
    """A gunicorn application whose workers each build their app with `factory()`."""

    def __init__(self, factory: Callable[[], Any], options: dict[str, Any]):
        self.factory = factory
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        """Apply the options gunicorn knows; unknown names are a programming error."""
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        """Build the app inside the worker process (its own Redis connections)."""
        return self.factory()
