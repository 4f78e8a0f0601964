"""The decision service (`bwc serve`): the engine's public API over HTTP, with a store of incidents
and a hash-chained log of every decision returned. docs/service.md is its guide.

engine.service.app makes the ASGI app (it imports FastAPI, so it is imported only by what serves);
engine.service.serving runs it in one process or several workers; engine.service.store keeps
incidents, the log, loaded versions and replays (all that workers share); engine.service.tokens says
who may call.
"""
