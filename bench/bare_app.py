"""The reference the API's throughput is judged against: the smallest FastAPI endpoint, served the same way
(`uvicorn bench.bare_app:app`, started by `bench.load`)."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/bare")
async def bare() -> dict[str, bool]:
    return {"ok": True}
