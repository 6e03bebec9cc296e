"""HTTP edge of Lianbao: the Starlette app, authentication, settings and the command line."""
