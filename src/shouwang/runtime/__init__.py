"""The process runner: `shouwang serve`, `worker` and `demo`, and how web, MQTT bridge and
task consumer share one process in the embedded shape. It sits on top of every app and no app
imports it (the MQTT-only `shouwang ingest` command lives with the bridge in `devices`)."""
