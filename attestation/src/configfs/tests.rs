//! configfs on the host: directories and attribute files with a fake item.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use std::sync::Mutex as StdMutex;

use services::error::{Errno, Result};
use services::fs::flags::{O_RDONLY, O_RDWR, O_WRONLY};
use services::fs::inode::{Inode, NewInode};
use services::fs::types::{DeviceId, InodeType};

use super::*;

#[derive(Default)]
struct Fake {
    text: StdMutex<Vec<u8>>,
    committed: StdMutex<Vec<Vec<u8>>>,
}

impl ConfigItem for Fake {
    fn show(&self, _id: usize) -> Result<Vec<u8>> {
        Ok(self.text.lock().unwrap().clone())
    }
    fn store(&self, _id: usize, data: &[u8]) -> Result<usize> {
        *self.text.lock().unwrap() = data.to_vec();
        Ok(data.len())
    }
    fn read_blob(&self, _id: usize) -> Result<Vec<u8>> {
        Ok(b"blob".to_vec())
    }
    fn write_blob(&self, _id: usize, data: &[u8]) -> Result<()> {
        self.committed.lock().unwrap().push(data.to_vec());
        Ok(())
    }
}

struct Group(StdMutex<Vec<Arc<Fake>>>);

impl GroupOps for Group {
    fn make_item(&self, name: &[u8]) -> Result<(Arc<dyn ConfigItem>, Vec<AttrDesc>)> {
        if name == b"refused" {
            return Err(services::errno!(ENXIO));
        }
        let item = Arc::new(Fake::default());
        self.0.lock().unwrap().push(item.clone());
        let attrs = vec![
            AttrDesc { name: "text", perm: 0o644, kind: AttrKind::Text, id: 0 },
            AttrDesc { name: "in", perm: 0o200, kind: AttrKind::Bin { max: 8 }, id: 1 },
            AttrDesc { name: "out", perm: 0o444, kind: AttrKind::Bin { max: 8 }, id: 2 },
            AttrDesc { name: "big", perm: 0o444, kind: AttrKind::Bin { max: 2 }, id: 3 },
        ];
        Ok((item, attrs))
    }
    fn drop_item(&self, _item: &Arc<dyn ConfigItem>) {}
}

const INIT: NewInode = NewInode { perm: 0o755, uid: 0, gid: 0, rdev: DeviceId::NONE };

fn errno<T>(result: Result<T>) -> Errno {
    result.err().expect("an error").errno()
}

#[test]
fn directories_answer_like_configfs() {
    let fixed = ConfigDir::new_default();
    let group = Arc::new(Group(StdMutex::new(Vec::new())));
    fixed.add_default_group(b"report", ConfigDir::new_group(group.clone()));
    assert_eq!(errno(fixed.mkdir(b"x", INIT)), Errno::EPERM);
    let report = fixed.lookup(b"report").unwrap();
    assert_eq!(errno(report.create(b"f", InodeType::File, INIT)), Errno::EACCES);
    assert_eq!(errno(report.mkdir(b"refused", INIT)), Errno::ENXIO);
    let item = report.mkdir(b"r1", INIT).unwrap();
    assert_eq!(item.metadata().perm, 0o755);
    assert_eq!(errno(report.mkdir(b"r1", INIT)), Errno::EEXIST);
    assert_eq!(errno(item.mkdir(b"sub", INIT)), Errno::EPERM);
    assert_eq!(item.lookup(b"in").unwrap().metadata().perm, 0o200);
    assert_eq!(item.lookup(b"text").unwrap().metadata().size, 4096);
    assert_eq!(errno(report.unlink(b"r1")), Errno::EPERM);
    assert_eq!(errno(item.unlink(b"text")), Errno::EPERM);
    assert_eq!(errno(item.rmdir(b"text")), Errno::ENOTDIR);
    assert_eq!(errno(fixed.rmdir(b"report")), Errno::EPERM);
    let text = item.lookup(b"text").unwrap();
    let open = text.open_file(O_RDONLY).unwrap().unwrap();
    report.rmdir(b"r1").unwrap();
    assert_eq!(errno(report.lookup(b"r1")), Errno::ENOENT);
    assert_eq!(errno(open.read(0, &mut [0u8; 4], false)), Errno::ENOENT);
    assert_eq!(errno(text.open_file(O_RDONLY)), Errno::ENOENT);
}

#[test]
fn attribute_files_buffer_per_open() {
    let group = Arc::new(Group(StdMutex::new(Vec::new())));
    let report = ConfigDir::new_group(group.clone());
    let item = report.mkdir(b"r", INIT).unwrap();
    let fake = group.0.lock().unwrap()[0].clone();
    // Access the attribute lacks: EACCES even for root.
    assert_eq!(errno(item.lookup(b"in").unwrap().open_file(O_RDWR)), Errno::EACCES);
    assert_eq!(errno(item.lookup(b"out").unwrap().open_file(O_WRONLY)), Errno::EACCES);
    // Text: one store per write; shown once per open.
    let text = item.lookup(b"text").unwrap().open_file(O_RDWR).unwrap().unwrap();
    assert_eq!(text.write(0, b"abc", false).unwrap(), 3);
    assert_eq!(errno(text.write(0, b"", false)), Errno::EFAULT);
    let mut buf = [0u8; 8];
    assert_eq!(text.read(0, &mut buf, false).unwrap(), 3);
    assert_eq!(&buf[..3], b"abc");
    assert_eq!(text.read(3, &mut buf, false).unwrap(), 0);
    // Binary write: buffered, committed on the last close; EFBIG past max.
    let input = item.lookup(b"in").unwrap().open_file(O_WRONLY).unwrap().unwrap();
    assert_eq!(input.write(0, b"0123", false).unwrap(), 4);
    assert_eq!(input.write(4, b"45", false).unwrap(), 2);
    assert_eq!(errno(input.write(6, b"678", false)), Errno::EFBIG);
    assert_eq!(errno(input.read(0, &mut buf, false)), Errno::ETXTBSY);
    assert!(fake.committed.lock().unwrap().is_empty());
    drop(input);
    assert_eq!(*fake.committed.lock().unwrap(), vec![b"012345".to_vec()]);
    // Binary read: whole blob once; EFBIG when larger than the maximum.
    let output = item.lookup(b"out").unwrap().open_file(O_RDONLY).unwrap().unwrap();
    assert_eq!(output.read(0, &mut buf, false).unwrap(), 4);
    assert_eq!(output.read(2, &mut buf, false).unwrap(), 2);
    let big = item.lookup(b"big").unwrap().open_file(O_RDONLY).unwrap().unwrap();
    assert_eq!(errno(big.read(0, &mut buf, false)), Errno::EFBIG);
}
