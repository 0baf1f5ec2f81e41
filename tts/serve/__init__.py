"""Serving a voice: ``tts-serve`` (HTTP with an OpenAI-compatible speech API and a web page, and
the Wyoming protocol for Home Assistant).

``workers`` runs synthesis on a pool of threads with a bounded queue, ``app`` is the ASGI app,
``wyoming`` the Wyoming handler, ``cli`` the command. Needs the ``[serve]`` extra
(``pip install latent-tts[serve]``); nothing here is imported by the rest of the package.
"""
