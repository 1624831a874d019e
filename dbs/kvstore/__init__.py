"""splitbrain's own key-value store as a db plugin: ``db.KVStoreDB`` (deploy, modes, faults)
and ``client.KVClient`` (the host-side client it hands to workloads). Imports as ``dbs``."""
