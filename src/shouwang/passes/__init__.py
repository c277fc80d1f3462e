"""Electronic resident passes: signing, the gate, the access log and visitors."""
