# CPU image of the TDSNN toolkit. Install steps are the README's (`pip install -e .`).
# GPU variant: start FROM a CUDA runtime image with Python 3.11 (e.g. nvidia/cuda:12.x-runtime)
# and keep the same steps; torch picks the GPU up at run time (`--device auto`).
FROM python:3.11-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends make dataset-fashion-mnist \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/tdsnn
COPY pyproject.toml README.md Makefile ./
COPY tdsnn_core ./tdsnn_core
COPY backend ./backend
COPY app ./app
COPY tdsnn_serve ./tdsnn_serve
COPY configs ./configs
COPY models ./models
RUN python -m pip install --no-cache-dir --upgrade pip \
 && python -m pip install --no-cache-dir -e .

EXPOSE 8000
# Set TDSNN_TOKEN to protect every route when the port is exposed.
CMD ["tdsnn", "serve", "--models", "models", "--host", "0.0.0.0", "--port", "8000"]
