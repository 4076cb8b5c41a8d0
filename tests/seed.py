"""The documentation's example event, as its curl sends it and as the Job's file must hold it.

Written out here, independently of the product code, so that tests compare against the
documentation rather than against what the code happens to produce.
"""

from __future__ import annotations

from typing import Final

SEED_HEADERS: Final = {
    "content-type": "application/json",
    "ce-specversion": "1.0",
    "ce-source": "my/curl/command",
    "ce-type": "my.demo.event",
    "ce-id": "123",
}
SEED_BODY: Final = b'{"details":"JobSinkDemo"}'
SEED_EVENT: Final = (
    b'{"specversion":"1.0","id":"123","source":"my/curl/command","type":"my.demo.event",'
    b'"datacontenttype":"application/json","data":{"details":"JobSinkDemo"}}'
)
"""The file the documentation shows the Job printing."""
SEED_LOCATION: Final = (
    "/namespaces/default/name/job-sink-logger/sources/my%2Fcurl%2Fcommand/ids/123"
)
