"""Reading a public HTTP source politely: one throttle, retries honouring the server's waits, errors naming the URL."""
