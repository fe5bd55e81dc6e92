def openapi_document() -> dict:
    return {"openapi": "3.1.0", "info": {"title": "Marquee", "version": "1"}, "paths": {}}
