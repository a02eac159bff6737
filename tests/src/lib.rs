//! End-to-end tests of Vigil: the relay and several clients on loopback, and the load
//! generator. The relay and the client engine are not built yet, so this crate holds no tests
//! of its own; it exists so the workspace has its final shape.
