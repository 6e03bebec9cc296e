"""The ASGI app uvicorn imports (``api.main:app``), built from the environment."""

from api.app import create_app
from api.settings import Settings, SettingsError

try:
    _settings = Settings.from_env()
except SettingsError as exc:
    # A configuration mistake is the operator's to fix: say which, without a traceback.
    raise SystemExit(f"lianbao: {exc}") from None

app = create_app(_settings)
