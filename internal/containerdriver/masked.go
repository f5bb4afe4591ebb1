package containerdriver

// MaskedText is what replaces a known secret value (a secret variable, a secret file, a
// git or credentials value) in the log lines an Observer receives and in a RunError: a
// runner's log that holds it has printed a secret.
const MaskedText = redactedText
