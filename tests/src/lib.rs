//! Integration tests of sockette against real peers on loopback (to come with the
//! backends): the project's own server role over TCP and TLS, and peers nobody here
//! wrote, started and stopped by the tests themselves.
