"""The decision service (`bwc serve`): the engine's public API over HTTP, with a store of incidents
and a hash-chained log of every decision returned. docs/service.md is its guide.

engine.service.app makes the ASGI app (it imports FastAPI, so it is imported only by what serves);
engine.service.store keeps incidents and the log; engine.service.tokens says who may call.
"""
