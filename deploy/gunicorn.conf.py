"""gunicorn settings for the API: gunicorn -c deploy/gunicorn.conf.py 'service:create_app()'.

The same settings as `leadrelay serve` (which the image runs), without its SIGHUP handling: here a
SIGHUP restarts the workers, and they fail to boot on a broken sources file.
"""

import os

from service.gunicorn_app import production_options
from service.settings import DEFAULT_WEB_THREADS, DEFAULT_WEB_WORKERS

globals().update(
    production_options(
        os.environ.get("LEADRELAY_HOST", "0.0.0.0"),  # noqa: S104
        int(os.environ.get("PORT", "8000")),
        int(os.environ.get("WEB_CONCURRENCY", DEFAULT_WEB_WORKERS)),
        int(os.environ.get("LEADRELAY_WEB_THREADS", DEFAULT_WEB_THREADS)),
    )
)
# Newer gunicorn opens a control socket under $HOME (read-only in the image); nothing here uses it.
control_socket_disable = True
