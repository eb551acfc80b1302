<?php
/**
 * Router for `php -S` serving Debian's WordPress as Apache's rewrite rules would: real files as
 * they are (wp-content from WordPress's content directory under /var/lib), PHP files run, every
 * other path through index.php (pretty permalinks, /wp-json/).
 */

$root    = $_SERVER['DOCUMENT_ROOT'];
$path    = urldecode( (string) parse_url( $_SERVER['REQUEST_URI'], PHP_URL_PATH ) );
$content = getenv( 'COMEBACK_WP_CONTENT' ) ?: '/var/lib/wordpress/wp-content';

if ( 0 === strpos( $path, '/wp-content/' ) ) {
	$file = realpath( $content . substr( $path, strlen( '/wp-content' ) ) );
	if ( $file && is_file( $file ) && '.php' !== substr( $file, -4 ) ) {
		$types = array( 'css' => 'text/css', 'js' => 'text/javascript', 'svg' => 'image/svg+xml', 'png' => 'image/png', 'woff2' => 'font/woff2' );
		$ext   = strtolower( pathinfo( $file, PATHINFO_EXTENSION ) );
		header( 'Content-Type: ' . ( $types[ $ext ] ?? 'application/octet-stream' ) );
		readfile( $file );
		return true;
	}
}
$file = $root . $path;
if ( is_file( $file ) || ( is_dir( $file ) && is_file( rtrim( $file, '/' ) . '/index.php' ) ) ) {
	return false; // php -S serves it (and runs PHP files, and a directory's index.php).
}
$_SERVER['SCRIPT_NAME']     = '/index.php';
$_SERVER['SCRIPT_FILENAME'] = $root . '/index.php';
$_SERVER['PHP_SELF']        = '/index.php';
chdir( $root );
require $root . '/index.php';
return true;
