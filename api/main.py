"""The ASGI app uvicorn imports (``api.main:app``), built from the environment."""

from api.app import create_app
from api.logs import configure_logging
from api.settings import Settings, SettingsError

try:
    _settings = Settings.from_env()
except SettingsError as exc:
    # A configuration mistake is the operator's to fix: say which, without a traceback.
    raise SystemExit(f"lianbao: {exc}") from None

# Each worker process imports this module, so each sets up its JSON logs here too, even when
# started by a bare `uvicorn api.main:app --workers N` rather than `lianbao serve`.
configure_logging(_settings.log_level)
app = create_app(_settings)
