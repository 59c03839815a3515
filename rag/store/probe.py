"""Child-process check of an embedded Chroma index (run as a script by
:func:`rag.store.health.probe`, never imported by the library).

Damaged HNSW files crash Chroma's native code with SIGSEGV when a collection is
first counted or searched, which no ``try`` can catch; reading them here first
means a crash costs this child, not the user's process.

    python rag/store/probe.py INDEX_DIR COLLECTION   # prints one JSON line
"""

import json
import os
import sys


def main(path: str, name: str) -> dict:
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    import chromadb
    from chromadb.config import Settings

    out: dict = {"exists": False, "error": None, "stage": "open"}
    try:
        client = chromadb.PersistentClient(path=path, settings=Settings(anonymized_telemetry=False))
        out["stage"] = "collection"
        try:
            col = client.get_collection(name)
        except Exception as exc:  # NotFoundError (or ValueError in older versions)
            if "does not exist" in str(exc) or type(exc).__name__ == "NotFoundError":
                return out
            raise
        out.update(exists=True, metadata=dict(col.metadata or {}), stage="count")
        out["count"] = col.count()  # loads the HNSW files: the usual crash point
        out["stage"] = "ids"
        ids = 0
        while True:
            got = col.get(include=[], limit=5000, offset=ids)
            ids += len(got["ids"])
            if len(got["ids"]) < 5000:
                break
        out["ids"] = ids
        out["stage"] = "vectors"
        if out["count"]:
            first = col.get(limit=1, include=["embeddings"])
            vector = [float(x) for x in first["embeddings"][0]]
            hits = col.query(query_embeddings=[vector], n_results=out["count"], include=[])
            out["reachable"] = len(hits["ids"][0])
        else:
            out["reachable"] = 0
        out["stage"] = "done"
    except Exception as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"[:500]
    return out


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])), flush=True)
