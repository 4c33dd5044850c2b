"""The intake server (`xltool serve`): each roster agency uploads its return through its own secret
link and sees the verdict at once; the coordinator watches progress over the roster.

agencies.py (roster rows -> agencies and their inbox folders), tokens.py (secret links, CSRF),
upload.py (streaming multipart to disk under the size cap, into the inbox atomically),
checker.py (the background ingest that judges uploads and refreshes the run outputs),
intake.py (the state the pages read), pages.py (HTML), app.py (the Starlette app, routes, security headers), server.py (uvicorn).
"""
