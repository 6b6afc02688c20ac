//! scratch
fn main() {
    let dir = std::env::args().nth(1).unwrap_or("/tmp/p5/sledprobe".into());
    let t = std::time::Instant::now();
    let db = sled::Config::new().path(&dir).flush_every_ms(None).open().expect("open");
    eprintln!("open {:?}", t.elapsed());
    db.insert("k", "v").expect("i");
    db.flush().expect("f");
    let r = sled::Config::new().path(&dir).open();
    eprintln!("second open while held: {:?}", r.as_ref().err());
    drop(r);
    drop(db);
    let t = std::time::Instant::now();
    let r = sled::Config::new().path(&dir).flush_every_ms(None).open();
    eprintln!("reopen after drop: ok={} {:?}", r.is_ok(), t.elapsed());
    let db = r.expect("re");
    for i in 0..2000u32 { db.insert(i.to_be_bytes(), vec![0u8; 2000]).expect("x"); }
    db.flush().expect("f");
    drop(db);
    let t = std::time::Instant::now();
    let db = sled::Config::new().path(&dir).flush_every_ms(None).open().expect("o");
    eprintln!("open 4MB {:?} len {}", t.elapsed(), db.len());
    if std::env::args().nth(2).is_some() { std::thread::sleep(std::time::Duration::from_secs(5)); }
}
