"""The Azure Functions app: triggers that parse their input, call the job, log one line."""
