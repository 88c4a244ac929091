# The image compose.yaml runs as `serve` and as `worker`: `docker build -t outage-desk .`
FROM python:3.12-slim

# `setup` reads triggers/, macros/ and greetings/ beside app/: an editable install keeps that tree.
WORKDIR /srv/outage-desk
COPY . .
RUN pip install --no-cache-dir -e . \
 && useradd --system --create-home --home-dir /var/lib/outage-desk --shell /usr/sbin/nologin outage-desk

USER outage-desk
WORKDIR /var/lib/outage-desk
EXPOSE 8000
ENTRYPOINT ["outage-desk"]
CMD ["serve", "--bind", "0.0.0.0:8000"]
