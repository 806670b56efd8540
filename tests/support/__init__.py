"""Test infrastructure: what the tests use, never collected as tests.

``paths`` (where things are), ``fake_api`` (the fake platform), ``servers``
(the fake and the receivers over real HTTP on 127.0.0.1), ``receivers``
(signing, hostile inputs and load for the receiver tests), ``blocks``,
``checker`` and ``facts`` (reading and proving the built site), ``browser``
(driving it in Chromium), and the command-line tools ``drift`` and
``benchmark``.
"""
