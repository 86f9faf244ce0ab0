// Probe: an ES module entry point that imports nothing (Node's ESM loader start-up alone).
