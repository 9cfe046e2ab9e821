"""Race weather from Open-Meteo: the client, which races to ask for, and the tables built from the answers."""
