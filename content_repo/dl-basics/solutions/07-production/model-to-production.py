# Reference solutions: each block replaces the exercise cell with that tag.

# %% exercise:predict
def predict(pixels):
    """64 pixel values (0-16) -> (digit, ten probabilities)."""
    x = [p / spec["scale"] for p in pixels]
    scores = [sum(w * v for w, v in zip(row, x)) + b for row, b in zip(spec["weights"], spec["bias"])]
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    probabilities = [e / total for e in exps]
    return probabilities.index(max(probabilities)), probabilities

# %% exercise:handler
def handle_predict(body):
    """Raw request body -> (HTTP status, JSON-able answer)."""
    try:
        request = json.loads(body)
    except ValueError:
        return 400, {"error": "the body is not JSON"}
    pixels = request.get("pixels") if isinstance(request, dict) else None
    if not isinstance(pixels, list) or len(pixels) != 64:
        return 400, {"error": "pixels: expected a list of 64 numbers"}
    if not all(isinstance(p, (int, float)) and not isinstance(p, bool) and 0 <= p <= 16 for p in pixels):
        return 400, {"error": "pixels: every value must be a number from 0 to 16"}
    digit, probabilities = predict(pixels)
    return 200, {"digit": digit, "probabilities": probabilities, "model_version": spec["version"]}
