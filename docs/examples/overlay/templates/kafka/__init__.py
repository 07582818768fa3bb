"""One module per message, each naming its Kafka topic and encoding records."""
