"""The hit-counter web app (``apps/hitcounter``), one container per host (``app``)."""
