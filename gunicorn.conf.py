"""gunicorn settings for production (README "Production deployment"): `gunicorn -c gunicorn.conf.py wsgi:app`.

Logging: gunicorn's own lines, its access line per request and the app's lines go to stderr (journald, or a
file that logrotate turns) in one format, one line per record, each with the request id (portal/logs.py).
"""
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
timeout = 60
graceful_timeout = 30
# Do not trust X-Forwarded-* from anyone but loopback (nginx on the same host); the app reads them itself,
# as many proxies as TRUSTED_PROXIES says (ProxyFix).
forwarded_allow_ips = "127.0.0.1"

access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'  # portal.logs.ACCESS_FORMAT: no query string
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "portal.logs.RequestIdFilter"}},
    "formatters": {"one_line": {"()": "portal.logs.OneLineFormatter"}},
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                   "formatter": "one_line", "filters": ["request_id"]},
    },
    "root": {"level": "INFO", "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": True},
    },
}
