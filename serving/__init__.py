"""Hardened HTTP serving for uvicorn: bounded request heads and read deadlines per connection.

Knows nothing of JobSinks or of the servers that use it; they pass ``protocol_for(limits)`` as
uvicorn's ``http`` protocol.
"""
