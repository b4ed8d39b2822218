"""The Azure Functions entry point: build the app and register the blueprints."""

import azure.functions as func

from service.functions.triggers import blueprint

app = func.FunctionApp()
app.register_functions(blueprint)
