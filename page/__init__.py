"""The chat page's parts that are not widgets: formatting answers and sources, uploads, and event handlers.

`app.py` builds the widgets and wires events; everything here can be called without a browser.
"""
