//! Lock types used by services, behind aliases so the framework's own
//! spin/sleep locks can replace the `spin` crate later without touching
//! the users.
//!
//! Owns: the names `Mutex`, `MutexGuard`, `RwLock`, `RwLockReadGuard`,
//! `RwLockWriteGuard`. Must never: grow lock logic of its own.

pub type Mutex<T> = spin::Mutex<T>;
pub type MutexGuard<'a, T> = spin::MutexGuard<'a, T>;
pub type RwLock<T> = spin::RwLock<T>;
pub type RwLockReadGuard<'a, T> = spin::RwLockReadGuard<'a, T>;
pub type RwLockWriteGuard<'a, T> = spin::RwLockWriteGuard<'a, T>;
