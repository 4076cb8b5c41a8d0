"""Read the Job's event file with the CloudEvents Python SDK's JSON format and print what it
parsed: the attributes and the data, as JSON."""

import json
import os

from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

path = os.path.join(os.environ.get("K_EVENT_PATH", "/etc/jobsink-event"), "event")
with open(path, "rb") as file:
    event = JSONFormat().read(CloudEvent, file.read())
print(json.dumps({"attributes": event.get_attributes(), "data": event.get_data()}, default=str))
