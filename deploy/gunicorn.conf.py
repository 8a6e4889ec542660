"""gunicorn settings for the API in production: gunicorn -c deploy/gunicorn.conf.py 'service:create_app()'."""

import os

bind = f"{os.environ.get('LEADRELAY_HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104
# The intake view does no outbound HTTP: one or two processes per core, a few threads each for Redis waits.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("LEADRELAY_WEB_THREADS", "4"))
worker_class = "gthread"
# The heartbeat file on tmpfs: a slow container disk must not make gunicorn kill healthy workers.
worker_tmp_dir = "/dev/shm"  # noqa: S108
accesslog = None
errorlog = "-"
graceful_timeout = 30
timeout = 30
keepalive = 5
# Newer gunicorn opens a control socket under $HOME (read-only in the image); nothing here uses it.
control_socket_disable = True
